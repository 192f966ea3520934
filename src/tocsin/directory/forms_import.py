"""The upload form of the HR import page."""

from django import forms
from django.conf import settings

from .hr_csv import HrCsvError
from .hr_plan import check_source


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file", allow_empty_file=True,
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,text/csv"}),
    )
    source = forms.CharField(
        initial="hr", max_length=32,
        help_text="The system the file comes from, such as 'hr'. People keep one id per source; "
        "people of this source missing from the file are deactivated.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.TOCSIN_MAX_BODY_BYTES
        # Read one byte more than allowed: a body sent without a length passes the middleware's check.
        data = upload.read(limit + 1)
        if len(data) > limit:
            raise forms.ValidationError(
                f"The file is larger than {limit // 1024} KiB; import it with `tocsin import-people FILE` instead."
            )
        return {"name": (upload.name or "upload.csv")[:120], "data": data}

    def clean_source(self):
        try:
            return check_source(self.cleaned_data["source"])
        except HrCsvError as exc:
            raise forms.ValidationError(exc.problems[0].message) from None
