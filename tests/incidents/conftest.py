import pytest

from tests.factories import make_user


@pytest.fixture
def writer(db):
    return make_user("wendy", role="Incident writers")
