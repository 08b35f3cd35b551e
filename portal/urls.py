from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django_otp.admin import OTPAdminSite

from accounts import views as account_views
from accounts.forms import (
    EmailLoginForm,
    StrictAdminLoginForm,
    StrictPasswordChangeForm,
    StrictPasswordResetForm,
    StrictSetPasswordForm,
)
from accounts.ratelimits import limit_by_ip
from portal.fields import harden_admin_site

# The admin site asks for a verified second factor like every staff page.
admin.site.__class__ = OTPAdminSite
# ... with the portal sign-in's strict boxes and messages (accounts/forms.py).
admin.site.login_form = StrictAdminLoginForm
# Every admin form parses its fields strictly (portal/fields.py), third-party ones too.
harden_admin_site(admin.site)

urlpatterns = [
    path("", account_views.home, name="home"),
    path(
        "accounts/login/",
        limit_by_ip("RATE_LOGIN", "login")(
            auth_views.LoginView.as_view(
                authentication_form=EmailLoginForm, redirect_authenticated_user=True
            )
        ),
        name="login",
    ),
    path(
        "accounts/password_reset/",
        limit_by_ip("RATE_PASSWORD_RESET", "password_reset")(
            auth_views.PasswordResetView.as_view(form_class=StrictPasswordResetForm)
        ),
        name="password_reset",
    ),
    # Django's views with the strict forms (accounts/forms.py), before Django's own URLs.
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(form_class=StrictSetPasswordForm),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password_change/",
        auth_views.PasswordChangeView.as_view(form_class=StrictPasswordChangeForm),
        name="password_change",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("accounts/", include("accounts.urls")),
    path("", include("symptoms.urls")),
    path("", include("nursing.urls")),
    path("", include("treatment.urls")),
    path("", include("notifications.urls")),
    path("admin/", admin.site.urls),
]
# Benchmarks only: portal/bench_views.py has URLs only when HOMELINE_BENCH_VIEWS=1.
urlpatterns += [path("bench/", include("portal.bench_views"))]
