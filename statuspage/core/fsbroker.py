"""kombu's filesystem transport with atomic message writes (the embedded default broker).

The stock transport creates the message file and then writes it, while a reader may move
and read the same file in between and get an empty message (the worker then dies on the
JSON). Here a message is written under a hidden temporary name and renamed into place, so
readers only ever see complete files. Registered as the ``safefs://`` transport.
"""

import os
import uuid
from time import monotonic

from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

SCHEME = "safefs"


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs) -> None:
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # A leading dot keeps the reader's "<anything>.<queue>.msg" match from seeing it.
        partial = os.path.join(self.data_folder_out, f".{name}.partial")
        try:
            with open(partial, "wb") as handle:
                handle.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise filesystem.ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel


def register() -> None:
    TRANSPORT_ALIASES.setdefault(SCHEME, "statuspage.core.fsbroker:Transport")
