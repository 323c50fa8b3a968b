"""Worker settings for the pacing trials (tests/campaigns/test_pacing.py): the SIGKILL trials'
worker settings, plus the relay's daily cap and warm-up from the trial's environment, and the
worker's clock moved to the trial's day (time-machine, ticking), so a run that pauses at the
day's cap is resumed by a worker living on the next day without anyone waiting for it."""

import os
from datetime import date, datetime

import time_machine

from tests.support.worker_settings import *  # noqa: F403

CAMPAIGN_SMTP_DAILY_CAP = int(os.environ.get("TRIAL_DAILY_CAP", "0")) or None
CAMPAIGN_SMTP_RATE = int(os.environ.get("TRIAL_RATE", "0")) or None
CAMPAIGN_SMTP_WARMUP = [int(cap) for cap in os.environ.get("TRIAL_WARMUP", "").split(",") if cap]
CAMPAIGN_SMTP_WARMUP_START = (date.fromisoformat(os.environ["TRIAL_WARMUP_START"])
                              if os.environ.get("TRIAL_WARMUP_START") else None)

if os.environ.get("TRIAL_CLOCK"):
    time_machine.travel(datetime.fromisoformat(os.environ["TRIAL_CLOCK"]), tick=True).start()
