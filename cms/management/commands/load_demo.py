from django.conf import settings
from django.core.management.base import BaseCommand

from cms.demo import ensure_admin, load_demo


class Command(BaseCommand):
    help = "Load Partwork's demo series (idempotent) and create the demo admin user."

    def handle(self, *args, **options):
        load_demo(stdout=self.stdout)
        username, password = ensure_admin(password_file=settings.DATA_DIR / "admin-password")
        self.stdout.write(
            self.style.SUCCESS(
                f"Admin: {settings.BASE_URL}/admin/  user: {username}  password: {password}"
            )
        )
