from django.shortcuts import redirect, render
from django.utils.text import slugify


def index(request):
    """Pick a nickname and a room."""
    if request.method == "POST":
        slug = slugify(request.POST.get("room", "")) or "lobby"
        request.session["nickname"] = request.POST.get("nickname", "").strip()[:30]
        return redirect("room", slug=slug)
    return render(request, "chat/index.html", {"nickname": request.session.get("nickname", "")})


def room(request, slug):
    """A chat room; the page subscribes to channel rooms/<slug>."""
    return render(
        request,
        "chat/room.html",
        {"slug": slug, "channel": f"rooms/{slug}", "nickname": request.session.get("nickname", "")},
    )
