"""Model health becomes a circuit breaker: a half-open model is probed by one call at a time
(probe_until, a lease)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('routing', '0009_modelcall_caller_overrun_settlement'),
    ]

    operations = [
        migrations.AddField(
            model_name='modelhealth',
            name='probe_until',
            field=models.DateTimeField(blank=True, help_text='Half-open: a call is probing it until then (a lease, should that call die).', null=True),
        ),
        migrations.AlterField(
            model_name='modelhealth',
            name='consecutive_failures',
            field=models.PositiveIntegerField(default=0, help_text='Failures in a row while closed; back to 0 on a success and when it opens.'),
        ),
        migrations.AlterField(
            model_name='modelhealth',
            name='cooldown_until',
            field=models.DateTimeField(blank=True, help_text='Set while open: until when calls skip it.', null=True),
        ),
    ]
