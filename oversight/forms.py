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
    """Adds USWDS classes to every widget, and error attributes once the form
    has been cleaned.

    Errors are marked in ``full_clean``, not in ``__init__``: reading
    ``self.errors`` in ``__init__`` would validate the form before a subclass
    has set its choices (a tenant's providers), caching "not a valid choice"."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            css = next(
                (c for klass, c in _WIDGET_CLASSES.items() if isinstance(widget, klass)),
                "usa-input",
            )
            widget.attrs["class"] = (widget.attrs.get("class", "") + " " + css).strip()
            if isinstance(widget, forms.DateInput):
                widget.input_type = "date"

    def full_clean(self):
        super().full_clean()
        self._mark_errors()

    def add_error(self, field, error):
        # Also reached after cleaning, when a service's ValidationError is shown.
        super().add_error(field, error)
        self._mark_errors()

    def _mark_errors(self) -> None:
        for name in self._errors or {}:
            if name not in self.fields:
                continue
            attrs = self.fields[name].widget.attrs
            if "usa-input--error" not in attrs.get("class", ""):
                attrs["class"] = (attrs.get("class", "") + " usa-input--error").strip()
            attrs["aria-invalid"] = "true"
            attrs["aria-describedby"] = f"{name}-error"


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
