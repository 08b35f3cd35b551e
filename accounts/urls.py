from django.urls import path

from accounts import invitation_views, people_views, team_views, views

urlpatterns = [
    path("two-factor/setup/", views.two_factor_setup, name="two_factor_setup"),
    path("two-factor/verify/", views.two_factor_verify, name="two_factor_verify"),
    path("two-factor/code/", views.two_factor_code, name="two_factor_code"),
    path("people/<int:user_id>/enrolment-code/", views.enrolment_code_create,
         name="enrolment_code_create"),
    path("invitation/<str:token>/", invitation_views.invitation_accept,
         name="invitation_accept"),
    path("teams/<int:team_id>/patients/new/", views.patient_create, name="patient_create"),
    path("teams/<int:team_id>/invite-staff/", invitation_views.staff_invitation_create,
         name="staff_invitation_create"),
    path("patients/<int:patient_id>/", views.patient_detail, name="patient_detail"),
    path("patients/<int:patient_id>/invite/", invitation_views.invitation_create,
         name="invitation_create"),
    path("teams/<int:team_id>/settings/", team_views.team_settings, name="team_settings"),
    path("memberships/<int:membership_id>/remove/", team_views.membership_remove,
         name="membership_remove"),
    path("close/", people_views.account_close, name="account_close"),
    path("teams/<int:team_id>/people/", people_views.team_people, name="team_people"),
    path("people/<int:user_id>/deactivate/", people_views.user_deactivate,
         name="user_deactivate"),
    path("patients/<int:patient_id>/access-log/", people_views.patient_access_log,
         name="patient_access_log"),
    path("caregiver-links/<int:link_id>/revoke/", views.caregiver_link_revoke,
         name="caregiver_link_revoke"),
]
