"""Forms of the alerts screens and of the public subscription page."""

from django import forms

from statuspage.catalog.models import Service


class ComponentChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Service) -> str:
        return obj.display_public_name


class SubscribeForm(forms.Form):
    email = forms.EmailField(label="Email address", max_length=254)
    scope = forms.ChoiceField(
        label="Mail me about",
        choices=[("all", "Every component"), ("some", "Only the components I choose")],
        initial="all",
        widget=forms.RadioSelect,
    )
    services = ComponentChoice(
        label="Components",
        queryset=Service.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, services: list[Service], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["services"]
        field.queryset = Service.objects.filter(pk__in=[s.pk for s in services])
        # The choices in page order, from the list already read, without another query.
        field.choices = [(s.pk, s.display_public_name) for s in services]

    def clean(self) -> dict:
        data = super().clean()
        if data.get("scope") == "some" and not data.get("services"):
            self.add_error("services", "Choose at least one component, or every component.")
        return data
