"""The Celery configuration keeps DESIGN.md's reliability rules."""

from django.conf import settings

from workers.celery_app import app


def test_reliability_settings():
    conf = app.conf
    assert conf.accept_content == ["json"] and conf.task_serializer == "json"
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert conf.broker_connection_max_retries is None
    assert conf.worker_cancel_long_running_tasks_on_connection_loss
    assert {q.name for q in conf.task_queues} == {"publishing", "mail", "chores"}


def test_every_delay_stays_below_the_visibility_timeout():
    app.loader.import_default_modules()
    visibility = app.conf.broker_transport_options["visibility_timeout"]
    ours = {name: task for name, task in app.tasks.items() if name.startswith("workers.")}
    assert "workers.tasks.publishing.sweep" in ours
    for name, task in ours.items():
        assert (task.time_limit or app.conf.task_time_limit) < visibility, name
        assert (task.soft_time_limit or app.conf.task_soft_time_limit) < (
            task.time_limit or app.conf.task_time_limit
        ), name
        assert task.retry_backoff_max < visibility, name
    assert app.conf.task_time_limit < visibility


def test_beat_runs_the_sweep_every_few_seconds():
    app.loader.import_default_modules()
    entry = app.conf.beat_schedule["publishing-sweep"]
    assert entry["task"] == "workers.tasks.publishing.sweep"
    assert entry["schedule"] == settings.PUBLISHING_SWEEP_INTERVAL <= 5
    assert app.tasks[entry["task"]].queue_name == "publishing"  # each task names its own queue
    assert settings.PUBLISHING_SWEEP_INTERVAL < entry["options"]["expires"] < 60


def test_a_message_lands_in_its_own_queue_only():
    """On the real broker: a task sent to one queue is not copied into the other."""
    app.loader.import_default_modules()
    with app.connection_for_write() as conn:
        channel = conn.default_channel
        for queue in app.conf.task_queues:
            queue(channel).declare()
            channel.queue_purge(queue.name)
        app.send_task("workers.tasks.publishing.sweep", queue="publishing", connection=conn)
        app.send_task("workers.tasks.publishing.sweep", queue="mail", connection=conn)
        app.send_task("workers.tasks.publishing.sweep", connection=conn)  # default queue
        counts = {
            name: channel.queue_declare(queue=name, passive=True).message_count
            for name in ("publishing", "mail")
        }
        for name in counts:
            channel.queue_purge(name)
    assert counts == {"publishing": 2, "mail": 1}


def test_each_task_lands_in_the_queue_it_names():
    """On the real broker: every task of ours names its queue, and its message goes there."""
    app.loader.import_default_modules()
    ours = {name: task for name, task in app.tasks.items() if name.startswith("workers.")}
    expected = {
        "workers.tasks.publishing.sweep": "publishing",
        "workers.tasks.publishing.publish_on_time": "publishing",
        "workers.tasks.django_tasks.run_django_task": "chores",
        "workers.tasks.campaigns.sweep": "publishing",
        "workers.tasks.campaigns.hand_over_announcement": "publishing",
        "workers.tasks.campaigns.send_campaign": "mail",
        "workers.tasks.audience.sync_audience": "mail",
        "workers.tasks.audience.push_member_interests": "mail",
        "workers.tasks.catchup.step": "mail",
        "workers.tasks.catchup.send_welcome": "mail",
        "workers.tasks.audience.erase_mailchimp_members": "mail",
        "workers.tasks.subscribers.send_confirmation": "mail",
        "workers.tasks.subscribers.sweep_confirmations": "publishing",
        "workers.tasks.subscribers.run_subscriber_import": "publishing",
        "workers.tasks.subscribers.sweep_subscriber_imports": "publishing",
        "workers.tasks.deliverability.poll_bounce_mailbox": "mail",
    }
    assert {name: task.queue_name for name, task in ours.items()} == expected
    ids_taken = {  # the tasks that load a row by id
        "workers.tasks.campaigns.send_campaign": (1,),
        "workers.tasks.campaigns.hand_over_announcement": (1,),
        "workers.tasks.subscribers.send_confirmation": (1,),
        "workers.tasks.subscribers.run_subscriber_import": (1,),
        "workers.tasks.publishing.publish_on_time": (1,),
        "workers.tasks.audience.push_member_interests": (1,),
        "workers.tasks.catchup.send_welcome": (1,),
        "workers.tasks.django_tasks.run_django_task": ("wagtail.tasks.nothing", [], {}),
    }
    with app.connection_for_write() as conn:
        channel = conn.default_channel
        for queue in app.conf.task_queues:
            queue(channel).declare()
            channel.queue_purge(queue.name)
        landed = {}
        for name, task in sorted(ours.items()):
            task.apply_async(ids_taken.get(name, ()), connection=conn)
            counts = {
                queue: channel.queue_declare(queue=queue).message_count
                for queue in ("publishing", "mail", "chores")
            }
            landed[name] = next(queue for queue, count in counts.items() if count)
            for queue in counts:
                channel.queue_purge(queue)
    assert landed == expected
