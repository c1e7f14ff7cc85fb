from django import forms

from .channels import clean_name, name_refusal
from .rooms import ROOM_NAME_RULES, RoomRefused, normalize_slug


class JoinForm(forms.Form):
    """The rooms page's form: a nickname (for visitors) and a room, whose name is taken in lower case."""

    nickname = forms.CharField(max_length=30, required=False)
    room = forms.CharField(
        max_length=50,
        initial="lobby",
        # What normalize_slug() accepts (Django's validate_slug), so the browser refuses what the server would.
        # The hyphen escaped: browsers compile `pattern` with the v flag, where a bare "-" in a class is an error.
        widget=forms.TextInput(attrs={"pattern": r"[a-zA-Z0-9_\-]+", "title": ROOM_NAME_RULES}),
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        # Checked on submit and said ("at most 30 characters (it has 40)"), not cut by the browser without a word.
        for field in ("nickname", "room"):
            self.fields[field].widget.attrs.pop("maxlength", None)

    def clean_nickname(self):
        nickname = clean_name(self.cleaned_data["nickname"])
        if nickname and not (self.user and self.user.is_authenticated):
            refusal = name_refusal(nickname)
            if refusal:
                raise forms.ValidationError(refusal)
        return nickname

    def clean_room(self):
        try:
            return normalize_slug(self.cleaned_data["room"].strip())
        except RoomRefused as refused:
            raise forms.ValidationError(refused.message) from None


class AnnouncementForm(forms.Form):
    text = forms.CharField(
        max_length=500, widget=forms.TextInput(attrs={"placeholder": "Announcement", "aria-label": "Announcement"})
    )
