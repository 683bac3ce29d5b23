// Starts GraphiQL against the endpoint that served this page: queries and mutations over HTTP,
// subscriptions over graphql-transport-ws on the same URL. The headers typed in GraphiQL's
// header editor go with every HTTP request and, as the connection_init payload, with every
// subscription, so {"Authorization": "Bearer <accessToken>"} works for both.
(function () {
  "use strict";

  var root = document.getElementById("graphiql");
  var missing = ["React", "ReactDOM", "GraphiQL"].filter(function (name) {
    return typeof window[name] === "undefined";
  });
  if (missing.length > 0) {
    root.className = "failed";
    root.textContent =
      "GraphiQL could not start: " + missing.join(", ") + " did not load from this server " +
      "(see the browser console). The GraphQL endpoint itself still answers POST requests.";
    return;
  }

  var endpoint = window.location.origin + window.location.pathname;
  var socket = new URL(endpoint);
  socket.protocol = socket.protocol === "https:" ? "wss:" : "ws:";

  var welcome = [
    "# GoChat's GraphQL API. Sign in with the login mutation, then put",
    '#   {"Authorization": "Bearer <accessToken>"}',
    "# in the Headers tab below: it is sent with queries, mutations and subscriptions.",
    "",
    "{ me { id handle guilds { id name } } }",
    "",
  ].join("\n");

  var plugins = [];
  if (typeof window.GraphiQLPluginExplorer !== "undefined") {
    plugins.push(window.GraphiQLPluginExplorer.explorerPlugin());
  }

  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: GraphiQL.createFetcher({ url: endpoint, subscriptionUrl: socket.toString() }),
      plugins: plugins,
      defaultQuery: welcome,
      defaultEditorToolsVisibility: true,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
      inputValueDeprecation: true,
    }),
  );
})();
