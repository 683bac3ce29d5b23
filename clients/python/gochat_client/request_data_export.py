from datetime import datetime

from pydantic import Field

from .base_model import BaseModel


class RequestDataExport(BaseModel):
    request_data_export: "RequestDataExportRequestDataExport" = Field(
        alias="requestDataExport"
    )


class RequestDataExportRequestDataExport(BaseModel):
    requested_at: datetime = Field(alias="requestedAt")


RequestDataExport.model_rebuild()
