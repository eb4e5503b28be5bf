from django.apps import AppConfig


class WorksConfig(AppConfig):
    name = "works"
    verbose_name = "Song identity"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from songhub.signals import library_changed

        from .tasks import on_library_changed

        library_changed.connect(on_library_changed, dispatch_uid="works.link_after_change")
