"""Form helpers shared by every app: USWDS classes on widgets, and the change
reason that every edit must carry into history."""

from django import forms

_WIDGET_CLASSES = {
    forms.Select: "usa-select",
    forms.SelectMultiple: "usa-select",
    forms.Textarea: "usa-textarea",
    forms.CheckboxInput: "usa-checkbox__input",
    forms.ClearableFileInput: "usa-file-input",
    forms.FileInput: "usa-file-input",
}


class USWDSMixin:
    """Adds USWDS classes and error attributes to every widget."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            widget = field.widget
            css = next(
                (c for klass, c in _WIDGET_CLASSES.items() if isinstance(widget, klass)),
                "usa-input",
            )
            widget.attrs["class"] = (widget.attrs.get("class", "") + " " + css).strip()
            if self.is_bound and name in self.errors:
                widget.attrs["class"] += " usa-input--error"
                widget.attrs["aria-invalid"] = "true"
                widget.attrs["aria-describedby"] = f"{name}-error"
            if isinstance(widget, forms.DateInput):
                widget.input_type = "date"


class ReasonMixin(forms.Form):
    """Every change carries a reason into history."""

    reason = forms.CharField(
        label="Reason for this change",
        max_length=500,
        help_text="Recorded in the history with your name and the time.",
    )

    reason_default: str = ""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.reason_default and not self.is_bound:
            self.initial.setdefault("reason", self.reason_default)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


def apply_service_errors(form: forms.Form, error) -> None:
    """Show a service's ValidationError on the form: on the field it names when
    the form has that field, otherwise at the top of the form."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def service_data(form: forms.Form) -> dict:
    """The cleaned data a service takes: everything but the change reason."""
    return {k: v for k, v in form.cleaned_data.items() if k != "reason"}
