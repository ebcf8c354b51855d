"""Reference firing times for tests/core/cron_schedule_test.cpp from croniter (PyPI).

One request a line on stdin, "SECONDS<TAB>SCHEDULE" (a UTC time in whole seconds since
1970), one answer a line on stdout: "NEXT PREV", the first firing strictly after the
time and the last at or before it, in seconds; "error" when croniter refuses the
schedule.
"""
import sys
from datetime import datetime, timedelta, timezone

from croniter import croniter

for line in sys.stdin:
    seconds, schedule = line.rstrip("\n").split("\t")
    start = datetime.fromtimestamp(int(seconds), tz=timezone.utc)
    try:
        after = croniter(schedule, start).get_next(float)
        # get_prev is strictly before: from the next minute, it is at or before `start`.
        minute = start.replace(second=0, microsecond=0) + timedelta(minutes=1)
        before = croniter(schedule, minute).get_prev(float)
        print(int(after), int(before))
    except Exception:  # noqa: BLE001 - any refusal is an answer
        print("error")
    sys.stdout.flush()
