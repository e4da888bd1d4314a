"""The ledger says who made each call (user, API token), what a provider reported above the
worst case reserved (overrun), and carries a key that lets a retried settlement land once."""

from decimal import Decimal

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('routing', '0008_money_twelve_places'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='modelcall',
            name='api_token_prefix',
            field=models.CharField(blank=True, db_default='', default='', help_text='The API token the gateway call came with.', max_length=12),
        ),
        migrations.AddField(
            model_name='modelcall',
            name='overrun',
            field=models.DecimalField(decimal_places=12, db_default=Decimal('0'), default=Decimal('0'), help_text='What the provider reported above the reservation (its worst case); the only way spend passes a ceiling.', max_digits=24),
        ),
        migrations.AddField(
            model_name='modelcall',
            name='settlement_key',
            field=models.UUIDField(blank=True, editable=False, help_text='Makes a settlement retried after a lost connection land once.', null=True, unique=True),
        ),
        migrations.AddField(
            model_name='modelcall',
            name='user',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, help_text="Who made the call: the gateway's token owner, a chat session's owner.", null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
    ]
