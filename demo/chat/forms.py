from django import forms


class JoinForm(forms.Form):
    nickname = forms.CharField(max_length=30, required=False)
    room = forms.SlugField(max_length=50, initial="lobby")


class AnnouncementForm(forms.Form):
    text = forms.CharField(max_length=500, widget=forms.TextInput(attrs={"placeholder": "Announcement"}))
