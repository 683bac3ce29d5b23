"""DataLoaders, created per operation (HTTP request or delivered subscription event), so a
cached row never outlives the operation that read it."""

from __future__ import annotations

from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from gochat.domain.records import User
from gochat.domain.services import Services
from gochat.ids import Snowflake


class UserByIdLoader(DataLoader[Snowflake, User | None]):
    def __init__(self, services: Services) -> None:
        async def load(ids: Sequence[Snowflake]) -> list[User | None]:
            found = await services.accounts.get_users(list(ids))
            return [found.get(i) for i in ids]

        super().__init__(load_fn=load)


class Loaders:
    def __init__(self, services: Services) -> None:
        self.user_by_id = UserByIdLoader(services)
