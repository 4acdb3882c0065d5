"""Pages of the escalation app, under /t/<tenant_slug>/. Object kwargs are
named <model>_pk so the isolation crawl can map each to its object."""

from django.urls import path

from . import notice_views, plan_views, support_views, views

urlpatterns = [
    path("ladder/", views.ladder_detail, name="ladder_detail"),
    path(
        "ladders/<int:ladder_version_pk>/",
        views.ladder_version_detail,
        name="ladder_version_detail",
    ),
    path("ladders/<int:ladder_version_pk>/revise/", views.ladder_revise, name="ladder_revise"),
    path(
        "contracts/<int:contract_pk>/escalation/",
        views.contract_escalation,
        name="contract_escalation",
    ),
    path(
        "contracts/<int:contract_pk>/escalation/propose/",
        views.escalation_propose,
        name="escalation_propose",
    ),
    path(
        "escalation-steps/<int:escalation_step_pk>/history/",
        views.escalation_step_history,
        name="escalation_step_history",
    ),
    path(
        "escalation-steps/<int:escalation_step_pk>/approve/",
        views.escalation_step_approve,
        name="escalation_step_approve",
    ),
    path(
        "escalation-steps/<int:escalation_step_pk>/reject/",
        views.escalation_step_reject,
        name="escalation_step_reject",
    ),
    path(
        "escalation-steps/<int:escalation_step_pk>/acknowledge/",
        views.escalation_step_acknowledge,
        name="escalation_step_acknowledge",
    ),
    path(
        "contracts/<int:contract_pk>/notices/",
        notice_views.contract_notices,
        name="contract_notices",
    ),
    path(
        "contracts/<int:contract_pk>/notices/issue/",
        notice_views.notice_issue,
        name="notice_issue",
    ),
    path("notices/<int:formal_notice_pk>/", notice_views.notice_detail, name="notice_detail"),
    path(
        "notices/<int:formal_notice_pk>/respond/",
        notice_views.notice_respond,
        name="notice_respond",
    ),
    path("notices/<int:formal_notice_pk>/close/", notice_views.notice_close, name="notice_close"),
    path(
        "notices/<int:formal_notice_pk>/withdraw/",
        notice_views.notice_withdraw,
        name="notice_withdraw",
    ),
    path(
        "notices/<int:formal_notice_pk>/history/",
        notice_views.notice_history,
        name="notice_history",
    ),
    # Supportive measures, provider concerns, frontline reports (support_views.py).
    path(
        "contracts/<int:contract_pk>/support/",
        support_views.contract_support,
        name="contract_support",
    ),
    path(
        "contracts/<int:contract_pk>/supportive-measures/new/",
        support_views.measure_create,
        name="measure_create",
    ),
    path(
        "supportive-measures/<int:supportive_measure_pk>/",
        support_views.measure_detail,
        name="measure_detail",
    ),
    path(
        "supportive-measures/<int:supportive_measure_pk>/end/",
        support_views.measure_end,
        name="measure_end",
    ),
    path(
        "contracts/<int:contract_pk>/concerns/new/",
        support_views.concern_create,
        name="concern_create",
    ),
    path("concerns/", support_views.concerns_list, name="concerns_list"),
    path(
        "concerns/<int:provider_concern_pk>/",
        support_views.concern_detail,
        name="concern_detail",
    ),
    path(
        "concerns/<int:provider_concern_pk>/acknowledge/",
        support_views.concern_acknowledge,
        name="concern_acknowledge",
    ),
    path("frontline-reports/", support_views.frontline_reports, name="frontline_reports"),
    path(
        "frontline-reports/new/",
        support_views.frontline_report_create,
        name="frontline_report_create",
    ),
    path(
        "frontline-reports/<int:frontline_report_pk>/",
        support_views.frontline_report_detail,
        name="frontline_report_detail",
    ),
    # Improvement plans (plan_views.py).
    path(
        "contracts/<int:contract_pk>/improvement-plans/",
        plan_views.contract_plans,
        name="contract_plans",
    ),
    path(
        "contracts/<int:contract_pk>/improvement-plans/new/",
        plan_views.plan_create,
        name="plan_create",
    ),
    path(
        "improvement-plans/<int:improvement_plan_pk>/",
        plan_views.plan_detail,
        name="plan_detail",
    ),
    path(
        "improvement-plans/<int:improvement_plan_pk>/actions/new/",
        plan_views.plan_action_add,
        name="plan_action_add",
    ),
    path(
        "improvement-plans/<int:improvement_plan_pk>/controls/new/",
        plan_views.plan_control_add,
        name="plan_control_add",
    ),
    path(
        "improvement-plans/<int:improvement_plan_pk>/reviews/new/",
        plan_views.plan_review_create,
        name="plan_review_create",
    ),
    path(
        "improvement-plans/<int:improvement_plan_pk>/agree/",
        plan_views.plan_agree,
        name="plan_agree",
    ),
    path(
        "improvement-plans/<int:improvement_plan_pk>/close/",
        plan_views.plan_close,
        name="plan_close",
    ),
    path("plan-actions/<int:plan_action_pk>/done/", plan_views.action_done, name="action_done"),
    path(
        "plan-actions/<int:plan_action_pk>/verify/",
        plan_views.action_verify,
        name="action_verify",
    ),
    path(
        "plan-actions/<int:plan_action_pk>/reopen/",
        plan_views.action_reopen,
        name="action_reopen",
    ),
]
