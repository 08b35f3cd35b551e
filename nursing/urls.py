from django.urls import path

from nursing import staff_views, threshold_views, timeline_views, views

urlpatterns = [
    # Under /accounts/ as before the split (URLs never move).
    path("accounts/staff/", staff_views.staff_home, name="staff_home"),
    path("alerts/", views.alert_list, name="alert_list"),
    path("alerts/<int:alert_id>/", views.alert_detail, name="alert_detail"),
    path("alerts/<int:alert_id>/acknowledge", views.alert_acknowledge, name="alert_acknowledge"),
    path("alerts/<int:alert_id>/resolve", views.alert_resolve, name="alert_resolve"),
    path("patients/<int:patient_id>/thresholds/", threshold_views.patient_thresholds,
         name="patient_thresholds"),
    path("patients/<int:patient_id>/timeline/", timeline_views.patient_timeline,
         name="patient_timeline"),
]
