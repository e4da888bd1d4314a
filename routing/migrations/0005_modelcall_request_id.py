from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("routing", "0004_reserve_function")]

    operations = [
        migrations.AddField(
            model_name="modelcall",
            name="request_id",
            field=models.CharField(
                blank=True,
                help_text="The id the caller was given (gateway: chatcmpl-…).",
                max_length=64,
            ),
        ),
    ]
