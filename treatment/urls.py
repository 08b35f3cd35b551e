"""URLs of the treatment app."""

from django.urls import path

from treatment import bag_change_views

urlpatterns = [
    path("treatment/patients/<int:patient_id>/bag-changes/", bag_change_views.bag_changes,
         name="bag_changes"),
    path("treatment/patients/<int:patient_id>/bag-changes/cancel/",
         bag_change_views.bag_change_cancel, name="bag_change_cancel"),
]
