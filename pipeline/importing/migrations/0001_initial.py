"""Adopt this app's models from the ``pipeline`` app of the days of one app.

The tables stay as they are (each model keeps its ``db_table``): the database is not touched, only
Django's picture of which app owns the models moves. Content types move with them, so permissions
(``importing.*``), admin log entries and anything pointing at a content type keep working.
"""

import django.db.models.deletion
from django.db import migrations, models

from pipeline.content_type_moves import move_content_types

MODELS = ['importedarticle']


class Migration(migrations.Migration):

    dependencies = [
        ('pipeline', '0005_merge_campaigns_audience_sync'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('cms', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                            name='ImportedArticle',
                            fields=[
                                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                                ('source_kind', models.CharField(choices=[('text', 'Plain text page'), ('html', 'HTML page'), ('wxr', 'WordPress export')], max_length=8)),
                                ('source_key', models.CharField(max_length=500)),
                                ('source_url', models.URLField(blank=True, max_length=1000)),
                                ('source_file', models.CharField(blank=True, max_length=500)),
                                ('content_hash', models.CharField(help_text='sha256 of the mapped content', max_length=64)),
                                ('original_title', models.TextField(blank=True, help_text='Untruncated title from the source')),
                                ('author', models.CharField(blank=True, max_length=200)),
                                ('categories', models.JSONField(blank=True, default=list)),
                                ('tags', models.JSONField(blank=True, default=list)),
                                ('wp_post_type', models.CharField(blank=True, max_length=20)),
                                ('wp_status', models.CharField(blank=True, max_length=20)),
                                ('wp_password_protected', models.BooleanField(default=False)),
                                ('source_published_at', models.DateTimeField(blank=True, null=True)),
                                ('first_imported_at', models.DateTimeField(auto_now_add=True)),
                                ('last_imported_at', models.DateTimeField(auto_now=True)),
                                ('offer', models.ForeignKey(blank=True, help_text="Draft offer suggested from the article's discount line", null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='cms.offer')),
                                ('part', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='import_source', to='cms.partpage')),
                                ('series', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='cms.seriespage')),
                            ],
                            options={
                                'db_table': 'pipeline_importedarticle',
                                'constraints': [models.UniqueConstraint(fields=('series', 'source_key'), name='unique_import_source_in_series')],
                            },
                        ),
            ],
        ),
        move_content_types(models=MODELS, to_app="importing"),
    ]
