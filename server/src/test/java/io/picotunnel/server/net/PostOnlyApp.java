package io.picotunnel.server.net;

import io.javalin.Javalin;
import io.javalin.http.Handler;

/** A loopback app that serves POST / with one handler, by Jetty through Javalin as the management port is. */
final class PostOnlyApp {

    private PostOnlyApp() {
    }

    static Javalin start(Handler onPost) {
        return Javalin.create(config -> {
            config.startup.showJavalinBanner = false;
            config.jetty.host = "127.0.0.1";
            config.jetty.port = 0;
            config.routes.post("/", onPost);
        }).start();
    }
}
