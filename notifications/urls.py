from django.urls import path

from notifications import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
]
