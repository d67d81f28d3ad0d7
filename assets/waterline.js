/* Client-side callbacks shared by every page: the light/dark theme and the collapsed navbar. */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
    waterline: {
        applyTheme: function (dark) {
            document.documentElement.setAttribute("data-bs-theme", dark ? "dark" : "light");
            return window.dash_clientside.no_update;
        },
        toggleNav: function (clicks, isOpen) {
            return clicks ? !isOpen : isOpen;
        },
    },
});
