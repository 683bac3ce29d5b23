from typing import Optional

from pydantic import Field

from .base_model import BaseModel


class CreateThread(BaseModel):
    create_thread: "CreateThreadCreateThread" = Field(alias="createThread")


class CreateThreadCreateThread(BaseModel):
    thread: "CreateThreadCreateThreadThread"


class CreateThreadCreateThreadThread(BaseModel):
    id: str
    name: str
    parent_id: Optional[str] = Field(alias="parentId")
    archived: bool
    locked: bool
    auto_archive_minutes: int = Field(alias="autoArchiveMinutes")


CreateThread.model_rebuild()
CreateThreadCreateThread.model_rebuild()
