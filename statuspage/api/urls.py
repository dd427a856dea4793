from django.urls import include, path

from statuspage.api import v2
from statuspage.api.v1 import api as api_v1

urlpatterns = [
    path("v1/", api_v1.urls),
    path("v2/", include(v2.urlpatterns)),
]
