"""The names a Django project reaches without Python loading them, read from its source."""

from __future__ import annotations

from textwrap import dedent

from codehealth.scanners.django_wiring import (
    class_wiring,
    framework_hooks,
    string_wiring,
    template_wiring,
    whitelist_module,
)


def test_fields_choices_and_self_registering_classes_are_wiring() -> None:
    source = dedent(
        """\
        class Colour(models.TextChoices):
            RED = "red", "Red"

        class OrderSerializer(serializers.ModelSerializer):
            total = serializers.SerializerMethodField()

            class Meta:
                model = Order
                note = "inside Meta"

            placed_at: Any = models.DateTimeField(
                auto_now_add=True,
            )
            helper = compute()

            def get_total(self, order):
                local = models.CharField()
                return local

        class ShopConfig(AppConfig):
            name = "shop"

        class Plain:
            RED_HERRING = 1
        """
    )
    names = class_wiring(source)

    assert {"RED", "total", "get_total", "placed_at", "clean_placed_at", "ShopConfig"} <= names
    assert not {"helper", "local", "RED_HERRING", "Plain", "OrderSerializer"} & names


def test_strings_name_identifiers_dotted_paths_and_channels_types() -> None:
    source = 'x = ["badge", "shop.tasks.nightly", "chat.events", "two words", "/a/b"]\n'

    names = string_wiring(source)

    assert {"badge", "get_badge", "has_badge_permission", "nightly", "chat_events"} <= names
    assert not {"two", "words", "a", "b"} & names


def test_templates_name_what_they_use_and_the_whitelist_parses() -> None:
    names = template_wiring("{% load shop_tags %}{{ item.shout|price }} <p>ignored</p>")

    assert names == {"load", "shop_tags", "item", "shout", "price"}
    compile(whitelist_module({"shout", "class", "not an identifier"}), "w.py", "exec")
    assert {"get_queryset", "receive_json", "ordering", "handle"} <= framework_hooks()
