"""The ground floor: regions, hospitals, departments, people and the roles they hold where."""

from __future__ import annotations

import json

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Region(models.Model):
    code = models.CharField(_("kode"), max_length=4, unique=True)
    name = models.CharField(_("navn"), max_length=100, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("region")
        verbose_name_plural = _("regioner")

    def __str__(self) -> str:
        return self.name


class Hospital(models.Model):
    """A hospital and its region: first from ``data/hospitals.csv``, then edited in the admin."""

    # Up to 10 characters, as a registry profile's code column allows; SKS codes have 4.
    code = models.CharField(_("SKS-kode"), max_length=10, unique=True)
    name = models.CharField(_("navn"), max_length=200, blank=True)
    region = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="hospitals",
        verbose_name=_("region"),
    )

    class Meta:
        ordering = ["name", "code"]
        verbose_name = _("sygehus")
        verbose_name_plural = _("sygehuse")

    def __str__(self) -> str:
        return self.name or self.code


class Department(models.Model):
    class Summary(models.TextChoices):
        """What the dashboard's tiles show by default, with the monthly SPC behind it."""

        ROLLING_12 = "rolling12", _("Seneste 12 måneder")
        YEAR_TO_DATE = "ytd", _("År til dato")

    code = models.CharField(_("SKS-kode"), max_length=20, unique=True)
    name = models.CharField(_("navn"), max_length=200, blank=True)
    hospital = models.ForeignKey(Hospital, on_delete=models.PROTECT, related_name="departments")
    tile_summary = models.CharField(
        _("flisernes tal"), max_length=10, choices=Summary.choices, default=Summary.ROLLING_12
    )

    class Meta:
        ordering = ["name", "code"]
        verbose_name = _("afdeling")
        verbose_name_plural = _("afdelinger")

    def __str__(self) -> str:
        return self.name or self.code


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An e-mail address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A person who logs in with an e-mail address; no separate user name."""

    username = None
    email = models.EmailField(_("e-mailadresse"), unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        ordering = ["email"]
        verbose_name = _("bruger")
        verbose_name_plural = _("brugere")

    def __str__(self) -> str:
        return self.get_full_name() or self.email


class Role(models.TextChoices):
    CLINICIAN = "clinician", _("Kliniker")
    COORDINATOR = "coordinator", _("Kvalitetskoordinator")
    LEADERSHIP = "leadership", _("Ledelse")
    ADMIN = "admin", _("Administrator")


class RoleSource(models.TextChoices):
    PORTAL = "portal", _("Tildelt i portalen")
    SSO = "sso", _("Fra single sign-on")


class RoleAssignment(models.Model):
    """One role a person holds, and where: a department, or for leadership a hospital/region."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(_("rolle"), max_length=20, choices=Role.choices)
    department = models.ForeignKey(
        Department, on_delete=models.CASCADE, null=True, blank=True, related_name="roles"
    )
    hospital = models.ForeignKey(
        Hospital, on_delete=models.CASCADE, null=True, blank=True, related_name="roles"
    )
    region = models.ForeignKey(
        Region, on_delete=models.CASCADE, null=True, blank=True, related_name="roles"
    )
    # Roles from single sign-on follow the identity provider's claim at every login; roles given
    # in the portal (admin, add_user) are never removed by a login.
    source = models.CharField(
        _("kilde"), max_length=10, choices=RoleSource.choices, default=RoleSource.PORTAL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("rolle")
        verbose_name_plural = _("roller")
        constraints = [
            # Department roles name their department; leadership may be limited to one hospital
            # or one region (or neither: the whole country); admin is not tied to a place.
            models.CheckConstraint(
                name="role_scope_fits_role",
                condition=(
                    Q(
                        role__in=["clinician", "coordinator"],
                        department__isnull=False,
                        hospital__isnull=True,
                        region__isnull=True,
                    )
                    | Q(role="leadership", department__isnull=True)
                    & ~Q(hospital__isnull=False, region__isnull=False)
                    | Q(
                        role="admin",
                        department__isnull=True,
                        hospital__isnull=True,
                        region__isnull=True,
                    )
                ),
            ),
            # One row per (person, role, place); partial indexes because the place columns are
            # nullable and NULLs never collide in a plain unique index.
            models.UniqueConstraint(
                fields=["user", "role", "department"],
                condition=Q(department__isnull=False),
                name="role_unique_per_department",
            ),
            models.UniqueConstraint(
                fields=["user", "role", "hospital"],
                condition=Q(hospital__isnull=False),
                name="role_unique_per_hospital",
            ),
            models.UniqueConstraint(
                fields=["user", "role", "region"],
                condition=Q(region__isnull=False),
                name="role_unique_per_region",
            ),
            models.UniqueConstraint(
                fields=["user", "role"],
                condition=Q(department__isnull=True, hospital__isnull=True, region__isnull=True),
                name="role_unique_nationwide",
            ),
        ]

    def __str__(self) -> str:
        where = self.department or self.hospital or self.region or _("hele landet")
        return f"{self.user} · {self.get_role_display()} · {where}"


class AuditAction(models.TextChoices):
    LOGIN = "login", _("Log ind")
    LOGIN_FAILED = "login_failed", _("Mislykket log ind")
    LOGOUT = "logout", _("Log ud")
    PATIENTS_VIEWED = "patients_viewed", _("Patientliste vist")
    EXPORT = "export", _("Eksport")
    DOWNLOAD = "download", _("Download")
    UPLOAD = "upload", _("Upload af udtræk")
    ROLLBACK = "rollback", _("Tilbagerulning af udtræk")
    DEFINITION_CHANGED = "definition_changed", _("Indikatordefinition ændret")
    TARGET_CHANGED = "target_changed", _("Mål ændret")
    MARKER_CHANGED = "marker_changed", _("Ændringsmarkør ændret")
    ROLE_CHANGED = "role_changed", _("Roller ændret")
    REGISTRY_INSTALLED = "registry_installed", _("Register installeret")
    FEED_TOKEN_CHANGED = "feed_token_changed", _("Leveringsnøgle oprettet eller tilbagekaldt")
    FEED_TOKEN_USED = "feed_token_used", _("Leveringsnøgle brugt")
    DELIVERY_LATE = "delivery_late", _("Levering forsinket")


class AuditEvent(models.Model):
    """One audited action: who, when, what, which department, from where. Append-only.

    PostgreSQL refuses every UPDATE, DELETE and TRUNCATE of this table (triggers, migrations
    0004 and 0005); the portal offers no way to change a record. The user and the department
    are kept as snapshots (e-mail, code) as well as links without a database constraint, so
    deleting a user or a department neither rewrites nor is blocked by the history.
    """

    created_at = models.DateTimeField(_("tidspunkt"), default=timezone.now, db_index=True)
    user = models.ForeignKey(
        User,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("bruger"),
    )
    user_email = models.CharField(_("e-mail"), max_length=254, blank=True, db_index=True)
    action = models.CharField(_("handling"), max_length=30, choices=AuditAction.choices)
    department = models.ForeignKey(
        Department,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("afdeling"),
    )
    department_code = models.CharField(_("afdelingskode"), max_length=20, blank=True)
    target = models.CharField(_("hvad"), max_length=500, blank=True)
    detail = models.JSONField(_("detaljer"), default=dict, blank=True)
    ip_address = models.GenericIPAddressField(_("IP-adresse"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("loghændelse")
        verbose_name_plural = _("adgangslog")
        indexes = [
            models.Index(fields=["action", "-created_at"]),
            models.Index(fields=["department_code", "-created_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                name="audit_action_known", condition=Q(action__in=AuditAction.values)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.user_email or '-'} {self.action}"

    @property
    def detail_text(self) -> str:
        return json.dumps(self.detail, ensure_ascii=False, sort_keys=True)
