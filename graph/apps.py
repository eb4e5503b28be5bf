from django.apps import AppConfig


class GraphConfig(AppConfig):
    name = "graph"
    verbose_name = "Transition graph"

    def ready(self):
        from . import signals  # noqa: F401  (connects the room-play recorder)
