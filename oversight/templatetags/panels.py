"""``{% panel p %}``: render a registered panel (oversight/registry.py) in place.

A panel is ``{"key", "template", "context"}``, as ``registry.home_panels_for``
and ``registry.contract_panels_for`` answer. Its template is rendered with the
page's context plus the panel's own (as ``{% include %}`` would), so it sees
``tenant``, ``membership`` and the request like the page around it.
"""

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def panel(context, panel):
    tpl = context.template.engine.get_template(panel["template"])
    with context.push(**panel["context"]):
        return tpl.render(context)
