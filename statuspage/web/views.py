from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from statuspage.catalog.selectors import service_list


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "web/home.html", {"services": service_list()})
