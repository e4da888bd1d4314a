"""Money and per-token prices keep 12 decimal places (routing/money.py): the price table
has prices with 9, and a call can cost less than 8 places hold."""

from decimal import Decimal

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('routing', '0007_roles'),
    ]

    operations = [
        migrations.AlterField(
            model_name='budgetcounter',
            name='spent',
            field=models.DecimalField(decimal_places=12, default=Decimal('0'), max_digits=24),
        ),
        migrations.AlterField(
            model_name='budgetreservation',
            name='amount',
            field=models.DecimalField(decimal_places=12, max_digits=24),
        ),
        migrations.AlterField(
            model_name='modelcall',
            name='cost',
            field=models.DecimalField(decimal_places=12, default=Decimal('0'), max_digits=24),
        ),
        migrations.AlterField(
            model_name='modelcall',
            name='estimated_cost',
            field=models.DecimalField(decimal_places=12, default=Decimal('0'), help_text='What the budget check reserved.', max_digits=24),
        ),
        migrations.AlterField(
            model_name='modelprice',
            name='completion_price',
            field=models.DecimalField(decimal_places=12, default=Decimal('0'), help_text='USD per completion token.', max_digits=24),
        ),
        migrations.AlterField(
            model_name='modelprice',
            name='prompt_price',
            field=models.DecimalField(decimal_places=12, default=Decimal('0'), help_text='USD per prompt token.', max_digits=24),
        ),
        migrations.AlterField(
            model_name='policy',
            name='daily_ceiling',
            field=models.DecimalField(decimal_places=12, help_text='Most this mode may spend per UTC day (USD).', max_digits=24),
        ),
        migrations.AlterField(
            model_name='policy',
            name='max_price_per_1k',
            field=models.DecimalField(decimal_places=12, help_text='Most a model may charge per 1,000 tokens, prompt or completion (USD).', max_digits=24),
        ),
        migrations.AlterField(
            model_name='policy',
            name='session_ceiling',
            field=models.DecimalField(decimal_places=12, help_text='Most one session may spend (USD).', max_digits=24),
        ),
    ]
