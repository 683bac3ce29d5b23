from collections.abc import AsyncIterator
from typing import Any, Optional, Union

from .async_base_client import AsyncBaseClient
from .base_model import UNSET, UnsetType
from .confirm_email_change import ConfirmEmailChange
from .create_thread import CreateThread
from .delete_account import DeleteAccount
from .events import Events
from .history import History
from .login import Login
from .request_data_export import RequestDataExport
from .request_email_change import RequestEmailChange
from .send import Send
from .sidebar import Sidebar
from .threads import Threads


def gql(q: str) -> str:
    return q


class GoChatClient(AsyncBaseClient):
    async def request_email_change(
        self, new_email: str, password: str, **kwargs: Any
    ) -> RequestEmailChange:
        query = gql("""
            mutation RequestEmailChange($newEmail: String!, $password: String!) {
              requestEmailChange(input: {newEmail: $newEmail, password: $password}) {
                ok
              }
            }
            """)
        variables: dict[str, object] = {"newEmail": new_email, "password": password}
        response = await self.execute(
            query=query,
            operation_name="RequestEmailChange",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return RequestEmailChange.model_validate(data)

    async def confirm_email_change(
        self, token: str, **kwargs: Any
    ) -> ConfirmEmailChange:
        query = gql("""
            mutation ConfirmEmailChange($token: String!) {
              confirmEmailChange(input: {token: $token}) {
                user {
                  id
                  email
                  emailVerified
                }
              }
            }
            """)
        variables: dict[str, object] = {"token": token}
        response = await self.execute(
            query=query,
            operation_name="ConfirmEmailChange",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return ConfirmEmailChange.model_validate(data)

    async def request_data_export(self, **kwargs: Any) -> RequestDataExport:
        query = gql("""
            mutation RequestDataExport {
              requestDataExport {
                requestedAt
              }
            }
            """)
        variables: dict[str, object] = {}
        response = await self.execute(
            query=query,
            operation_name="RequestDataExport",
            variables=variables,
            **kwargs,
        )
        data = self.get_data(response)
        return RequestDataExport.model_validate(data)

    async def delete_account(self, password: str, **kwargs: Any) -> DeleteAccount:
        query = gql("""
            mutation DeleteAccount($password: String!) {
              deleteAccount(input: {password: $password}) {
                ok
              }
            }
            """)
        variables: dict[str, object] = {"password": password}
        response = await self.execute(
            query=query, operation_name="DeleteAccount", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return DeleteAccount.model_validate(data)

    async def events(self, **kwargs: Any) -> AsyncIterator[Events]:
        query = gql("""
            subscription Events {
              events {
                __typename
                ... on MessageCreated {
                  message {
                    id
                    channelId
                    authorId
                    content
                  }
                }
                ... on ResyncRequired {
                  reason
                }
              }
            }
            """)
        variables: dict[str, object] = {}
        async for data in self.execute_ws(
            query=query, operation_name="Events", variables=variables, **kwargs
        ):
            yield Events.model_validate(data)

    async def history(
        self,
        channel_id: str,
        last: int,
        before: Union[Optional[str], UnsetType] = UNSET,
        **kwargs: Any,
    ) -> History:
        query = gql("""
            query History($channelId: ID!, $last: Int!, $before: String) {
              channel(id: $channelId) {
                __typename
                id
                name
                ... on TextChannel {
                  messages(last: $last, before: $before) {
                    edges {
                      cursor
                      node {
                        id
                        authorId
                        content
                        createdAt
                      }
                    }
                    pageInfo {
                      hasPreviousPage
                      startCursor
                    }
                  }
                }
              }
            }
            """)
        variables: dict[str, object] = {
            "channelId": channel_id,
            "last": last,
            "before": before,
        }
        response = await self.execute(
            query=query, operation_name="History", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return History.model_validate(data)

    async def send(
        self,
        channel_id: str,
        content: str,
        nonce: Union[Optional[str], UnsetType] = UNSET,
        **kwargs: Any,
    ) -> Send:
        query = gql("""
            mutation Send($channelId: ID!, $content: String!, $nonce: String) {
              sendMessage(input: {channelId: $channelId, content: $content, nonce: $nonce}) {
                created
                message {
                  id
                  channelId
                  content
                  createdAt
                }
              }
            }
            """)
        variables: dict[str, object] = {
            "channelId": channel_id,
            "content": content,
            "nonce": nonce,
        }
        response = await self.execute(
            query=query, operation_name="Send", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return Send.model_validate(data)

    async def login(self, email: str, password: str, **kwargs: Any) -> Login:
        query = gql("""
            mutation Login($email: String!, $password: String!) {
              login(input: {email: $email, password: $password}) {
                session {
                  accessToken
                  accessTokenExpiresAt
                  refreshToken
                }
                user {
                  id
                  handle
                }
              }
            }
            """)
        variables: dict[str, object] = {"email": email, "password": password}
        response = await self.execute(
            query=query, operation_name="Login", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return Login.model_validate(data)

    async def sidebar(self, **kwargs: Any) -> Sidebar:
        query = gql("""
            query Sidebar {
              me {
                id
                handle
                displayName
                guilds {
                  id
                  name
                  channels {
                    __typename
                    id
                    name
                    type
                    position
                    ... on TextChannel {
                      unreadCount
                      mentionCount
                    }
                  }
                }
                directMessageChannels {
                  id
                  name
                  unreadCount
                }
              }
            }
            """)
        variables: dict[str, object] = {}
        response = await self.execute(
            query=query, operation_name="Sidebar", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return Sidebar.model_validate(data)

    async def create_thread(
        self,
        channel_id: str,
        name: str,
        from_message_id: Union[Optional[str], UnsetType] = UNSET,
        **kwargs: Any,
    ) -> CreateThread:
        query = gql("""
            mutation CreateThread($channelId: ID!, $name: String!, $fromMessageId: ID) {
              createThread(
                input: {channelId: $channelId, name: $name, fromMessageId: $fromMessageId}
              ) {
                thread {
                  id
                  name
                  parentId
                  archived
                  locked
                  autoArchiveMinutes
                }
              }
            }
            """)
        variables: dict[str, object] = {
            "channelId": channel_id,
            "name": name,
            "fromMessageId": from_message_id,
        }
        response = await self.execute(
            query=query, operation_name="CreateThread", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return CreateThread.model_validate(data)

    async def threads(
        self,
        channel_id: str,
        archived: Union[Optional[bool], UnsetType] = UNSET,
        after: Union[Optional[str], UnsetType] = UNSET,
        **kwargs: Any,
    ) -> Threads:
        query = gql("""
            query Threads($channelId: ID!, $archived: Boolean, $after: String) {
              channel(id: $channelId) {
                __typename
                id
                ... on TextChannel {
                  rateLimitPerUser
                  threads(archived: $archived, first: 50, after: $after) {
                    edges {
                      cursor
                      node {
                        id
                        name
                        archived
                        messageCount
                        lastMessageId
                      }
                    }
                    pageInfo {
                      hasNextPage
                      endCursor
                    }
                  }
                }
              }
            }
            """)
        variables: dict[str, object] = {
            "channelId": channel_id,
            "archived": archived,
            "after": after,
        }
        response = await self.execute(
            query=query, operation_name="Threads", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return Threads.model_validate(data)
