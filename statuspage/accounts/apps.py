from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "statuspage.accounts"
    label = "accounts"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from statuspage.accounts import throttle  # noqa: F401  (connects the auth signals)
        from statuspage.accounts.roles import role_groups_sync

        # The role groups are data every database needs, test databases included, and
        # post_migrate is the one point that runs after every migrate of every database.
        post_migrate.connect(role_groups_sync, dispatch_uid="accounts.role_groups_sync")
