from django.urls import path

from nursing import timeline_views, views

urlpatterns = [
    path("alerts/", views.alert_list, name="alert_list"),
    path("alerts/<int:alert_id>/", views.alert_detail, name="alert_detail"),
    path("alerts/<int:alert_id>/acknowledge", views.alert_acknowledge, name="alert_acknowledge"),
    path("alerts/<int:alert_id>/resolve", views.alert_resolve, name="alert_resolve"),
    path("patients/<int:patient_id>/timeline/", timeline_views.patient_timeline,
         name="patient_timeline"),
]
