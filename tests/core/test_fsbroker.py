"""The embedded broker: messages written by one process are read whole by another."""

import multiprocessing
import queue as queue_module

from kombu import Connection

from statuspage.core import fsbroker

# Large messages keep each write in progress long enough for a racing reader to find the
# file: kombu's stock filesystem transport fails this test with an empty-JSON error.
COUNT = 150
PAYLOAD = "x" * 3_000_000


def _options(folder) -> dict:
    return {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        "control_folder": str(folder / "control"),
        "store_processed": False,
    }


def _produce(folder, count: int) -> None:
    fsbroker.register()
    with Connection("safefs://", transport_options=_options(folder)) as conn:
        q = conn.SimpleQueue("jobs")
        for number in range(count):
            q.put({"n": number, "pad": PAYLOAD})
        q.close()


def test_a_reader_racing_a_writer_in_another_process_gets_every_message_whole(tmp_path):
    fsbroker.register()
    (tmp_path / "control").mkdir()
    writer = multiprocessing.get_context("spawn").Process(target=_produce, args=(tmp_path, COUNT))
    writer.start()
    seen = []
    with Connection("safefs://", transport_options=_options(tmp_path)) as conn:
        q = conn.SimpleQueue("jobs")
        while len(seen) < COUNT:
            try:
                message = q.get(timeout=20)
            except queue_module.Empty:
                break
            seen.append(message.payload["n"])
            message.ack()
        q.close()
    writer.join(timeout=20)
    assert writer.exitcode == 0
    assert sorted(seen) == list(range(COUNT))
    assert not list(tmp_path.glob(".*.partial"))
