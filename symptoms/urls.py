from django.urls import path

from symptoms import export_views, views

urlpatterns = [
    path("patients/<int:patient_id>/check-in/", views.check_in_new, name="check_in_new"),
    path("patients/<int:patient_id>/check-in/neuro/", views.check_in_neuro,
         name="check_in_neuro"),
    path("patients/<int:patient_id>/history/", views.check_in_history, name="check_in_history"),
    path("patients/<int:patient_id>/export.csv", export_views.export_csv, name="export_csv"),
    path("patients/<int:patient_id>/export.json", export_views.export_json, name="export_json"),
    path("check-ins/<int:check_in_id>/", views.check_in_result, name="check_in_result"),
]
