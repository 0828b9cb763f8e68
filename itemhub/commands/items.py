"""Handlers of the item commands: create, edit, move, archive, revert, delete."""

from __future__ import annotations

from collections.abc import Callable
from uuid import uuid5

from itemhub.commands import messages as m
from itemhub.commands.errors import InvalidInput, InvalidState, NotFound
from itemhub.commands.policy import (
    Actor,
    can_see,
    require_item_access,
    require_superuser,
)
from itemhub.commands.registry import Decide, handles
from itemhub.commands.unit_of_work import UnitOfWork
from itemhub.events import NAMESPACE, SYSTEM_ACTOR_ID, EventMeta, Item


def _item(
    uow: UnitOfWork, actor: Actor, command: m.ItemCommand
) -> tuple[Item, m.CommandResult | None]:
    """Load an item the actor may change; also the replayed result, if any."""
    item = uow.get(Item, command.item_id)
    if item is None:
        raise NotFound(f"item {command.item_id} not found")
    require_item_access(actor, item)
    replayed = uow.replay(item, command)
    if replayed is None:
        uow.check_version(item, command.expected_version)
    return item, replayed


def _changing(
    uow: UnitOfWork,
    actor: Actor,
    command: m.ItemCommand,
    change: Callable[[Item], bool],
) -> Decide:
    """Load the item fresh, apply ``change`` (False: nothing changed), save it."""

    def decide() -> m.CommandResult:
        item, replayed = _item(uow, actor, command)
        if replayed:
            return replayed
        if not change(item):
            return uow.unchanged(item)
        return uow.save(item, item)

    return decide


@handles(m.CreateItem)
def create_item(
    uow: UnitOfWork, cmd: m.CreateItem, actor: Actor, meta: EventMeta
) -> Decide:
    """Create an item owned by the actor (or, for superusers, by anyone)."""
    column = uow.column(cmd.column)
    owner_id = cmd.owner_id or actor.id
    if owner_id != actor.id:
        require_superuser(actor)
    # The id derives from the command id, so a retry finds the item it made.
    item_id = uuid5(NAMESPACE, f"item:{cmd.command_id}")
    attempts = 0

    def decide() -> m.CommandResult:
        nonlocal attempts
        attempts += 1
        # Only a repeat of this command can have made this id, and its save
        # fails on it: look for the item only then (one store read fewer).
        if attempts > 1 and (existing := uow.get(Item, item_id)) is not None:
            return uow.created_before(existing)
        if owner_id != actor.id or actor.id == SYSTEM_ACTOR_ID:
            uow.active_user(owner_id, "owner_id")
        item = Item.create(
            item_id=item_id,
            title=cmd.title,
            description=cmd.description,
            column=column,
            position=cmd.position,
            owner_id=owner_id,
            meta=meta,
        )
        return uow.save(item, item)

    return decide


@handles(m.EditItem)
def edit_item(
    uow: UnitOfWork, cmd: m.EditItem, actor: Actor, meta: EventMeta
) -> Decide:
    """Change an item's text and, for superusers, its owner (one save)."""

    def edit(item: Item) -> bool:
        if cmd.owner_id is not None and cmd.owner_id != item.owner_id:
            require_superuser(actor)
            uow.active_user(cmd.owner_id, "owner_id")
        edited = item.edit(title=cmd.title, description=cmd.description, meta=meta)
        reassigned = cmd.owner_id is not None and item.reassign(
            owner_id=cmd.owner_id, meta=meta
        )
        return edited or reassigned

    return _changing(uow, actor, cmd, edit)


@handles(m.MoveItem)
def move_item(
    uow: UnitOfWork, cmd: m.MoveItem, actor: Actor, meta: EventMeta
) -> Decide:
    """Move an item to a column and index."""
    column = uow.column(cmd.column)

    def move(item: Item) -> bool:
        if item.archived:
            raise InvalidState("archived items cannot be moved; restore it first")
        item.move(column=column, position=cmd.position, meta=meta)
        return True

    return _changing(uow, actor, cmd, move)


@handles(m.ReassignItem)
def reassign_item(
    uow: UnitOfWork, cmd: m.ReassignItem, actor: Actor, meta: EventMeta
) -> Decide:
    """Give an item to another active user."""

    def reassign(item: Item) -> bool:
        require_superuser(actor)
        uow.active_user(cmd.owner_id, "owner_id")
        return item.reassign(owner_id=cmd.owner_id, meta=meta)

    return _changing(uow, actor, cmd, reassign)


@handles(m.ArchiveItem)
def archive_item(
    uow: UnitOfWork, cmd: m.ArchiveItem, actor: Actor, meta: EventMeta
) -> Decide:
    """Take an item off the board."""

    def archive(item: Item) -> bool:
        if item.archived:
            raise InvalidState("item is already archived")
        item.archive(meta=meta)
        return True

    return _changing(uow, actor, cmd, archive)


@handles(m.RestoreItem)
def restore_item(
    uow: UnitOfWork, cmd: m.RestoreItem, actor: Actor, meta: EventMeta
) -> Decide:
    """Bring an archived item back."""

    def restore(item: Item) -> bool:
        if not item.archived:
            raise InvalidState("item is not archived")
        item.restore(meta=meta)
        return True

    return _changing(uow, actor, cmd, restore)


@handles(m.RevertItem)
def revert_item(
    uow: UnitOfWork, cmd: m.RevertItem, actor: Actor, meta: EventMeta
) -> Decide:
    """Restore an earlier version (owner changes are reverted for superusers only)."""

    def revert(item: Item) -> bool:
        if item.version == 1:
            raise InvalidInput("to_version", "the item has no earlier version")
        if not 1 <= cmd.to_version < item.version:
            raise InvalidInput(
                "to_version", f"must be between 1 and {item.version - 1}"
            )
        old: object = uow.app.repository.get(cmd.item_id, version=cmd.to_version)
        assert isinstance(old, Item)
        if actor.is_superuser and old.owner_id != item.owner_id:
            uow.active_user(old.owner_id, "to_version")
        return item.revert(to=old, keep_owner=not actor.is_superuser, meta=meta)

    return _changing(uow, actor, cmd, revert)


@handles(m.DeleteItem)
def delete_item(
    uow: UnitOfWork, cmd: m.DeleteItem, actor: Actor, meta: EventMeta
) -> Decide:
    """Delete an item."""

    def delete(item: Item) -> bool:
        item.delete(meta=meta)
        return True

    change = _changing(uow, actor, cmd, delete)

    def decide() -> m.CommandResult:
        item = uow.get(Item, cmd.item_id)
        # A retried delete finds its own command on the deleted item.
        if item is not None and item.deleted:
            replayed = uow.replay(item, cmd)
            if replayed and can_see(actor, item.owner_id):
                return replayed
        return change()

    return decide
