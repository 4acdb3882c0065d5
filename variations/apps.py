from django.apps import AppConfig


class VariationsConfig(AppConfig):
    name = "variations"
