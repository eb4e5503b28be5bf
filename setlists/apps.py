from django.apps import AppConfig


class SetlistsConfig(AppConfig):
    name = "setlists"
    verbose_name = "Setlists"
    default_auto_field = "django.db.models.BigAutoField"
