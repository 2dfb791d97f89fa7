from allauth.mfa.models import Authenticator
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from departments import audit
from departments.models import (
    AuditAction,
    AuditEvent,
    Department,
    Hospital,
    Region,
    RoleAssignment,
    User,
)
from departments.services import confirm_email, describe_role


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["name", "code"]
    search_fields = ["code", "name"]


@admin.register(Hospital)
class HospitalAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "region"]
    list_filter = ["region"]
    search_fields = ["code", "name"]


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "hospital"]
    list_filter = ["hospital__region"]
    search_fields = ["code", "name"]


class RoleInline(admin.TabularInline):
    model = RoleAssignment
    extra = 0
    fields = ["role", "department", "hospital", "region", "source"]
    readonly_fields = ["source"]
    autocomplete_fields = ["department", "hospital", "region"]


# Changing these changes what a person may do in the admin itself: audited like roles.
_ACCESS_FIELDS = ("is_active", "is_staff", "is_superuser")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_active", "is_staff"]
    search_fields = ["email", "first_name", "last_name"]
    inlines = [RoleInline]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Navn"), {"fields": ("first_name", "last_name")}),
        (_("Adgang"), {"fields": ("is_active", "is_staff", "is_superuser")}),
        (_("Datoer"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            confirm_email(obj)  # made by an administrator: its address is confirmed
        changed = [name for name in _ACCESS_FIELDS if name in form.changed_data]
        if change and changed:
            audit.record(
                request,
                AuditAction.ROLE_CHANGED,
                target=obj.email,
                detail={"changed": {name: getattr(obj, name) for name in changed}, "via": "admin"},
            )

    def save_formset(self, request, form, formset, change):
        if formset.model is not RoleAssignment:
            return super().save_formset(request, form, formset, change)
        # Deleted roles must be described before they are gone.
        revoked = [describe_role(f.instance) for f in formset.deleted_forms if f.instance.pk]
        super().save_formset(request, form, formset, change)
        granted = [describe_role(obj) for obj in formset.new_objects]
        changed = [describe_role(obj) for obj, _fields in formset.changed_objects]
        if granted or revoked or changed:
            audit.record(
                request,
                AuditAction.ROLE_CHANGED,
                target=form.instance.email,
                detail={"granted": granted, "revoked": revoked, "changed": changed, "via": "admin"},
            )


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit log, read-only: nobody adds, changes or deletes a record here."""

    list_display = ["created_at", "user_email", "action", "department_code", "target", "ip_address"]
    list_filter = ["action", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["user_email", "department_code", "target"]
    date_hierarchy = "created_at"
    list_select_related = False
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# allauth's own admin for authenticators shows and edits their secrets (the TOTP seed). An
# administrator may only see that a person has a second factor and remove it (a lost phone);
# never read or change the secret.
admin.site.unregister(Authenticator)


@admin.register(Authenticator)
class AuthenticatorAdmin(admin.ModelAdmin):
    list_display = ["user", "type", "created_at", "last_used_at"]
    list_filter = ["type"]
    search_fields = ["user__email"]
    fields = ["user", "type", "created_at", "last_used_at"]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
