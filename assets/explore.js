/* Explore page: keep the view in the address bar without making Dash Pages re-render the page. */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
    waterline_explore: {
        writeSearch: function (search) {
            if (search && window.location.search !== search) {
                window.history.replaceState(window.history.state, "", window.location.pathname + search);
            }
            return window.dash_clientside.no_update;
        },
    },
});
