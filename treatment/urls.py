from django.urls import path

from treatment import bag_change_views, feed_views, views

urlpatterns = [
    path("treatment/patients/<int:patient_id>/plan/", views.treatment_plan,
         name="treatment_plan"),
    path("treatment/patients/<int:patient_id>/visits/add", views.clinic_visit_add,
         name="clinic_visit_add"),
    path("treatment/visits/<int:visit_id>/cancel", views.clinic_visit_cancel,
         name="clinic_visit_cancel"),
    path("treatment/patients/<int:patient_id>/feeds/new", views.calendar_feed_create,
         name="calendar_feed_create"),
    path("treatment/feeds/<int:feed_id>/revoke", views.calendar_feed_revoke,
         name="calendar_feed_revoke"),
    # The token is the only key (no sign-in): see treatment/feed_views.py.
    path("calendar/<str:token>.ics", feed_views.calendar_feed, name="calendar_feed"),
    path("treatment/patients/<int:patient_id>/bag-changes/", bag_change_views.bag_changes,
         name="bag_changes"),
    path("treatment/patients/<int:patient_id>/bag-changes/cancel/",
         bag_change_views.bag_change_cancel, name="bag_change_cancel"),
]
