package io.picotunnel.server.api;

import io.javalin.Javalin;
import io.javalin.http.Handler;
import jakarta.servlet.DispatcherType;
import org.eclipse.jetty.ee10.servlet.FilterHolder;

import java.time.Duration;
import java.util.EnumSet;

/**
 * A loopback app that serves POST / with one handler behind the management port's {@link UnreadBodyDrain}, by Jetty
 * through Javalin as the management port is, with a drop time of the test's choosing.
 */
final class DrainedApp {

    private DrainedApp() {
    }

    static Javalin start(Duration dropTime, Handler onPost) {
        return Javalin.create(config -> {
            config.startup.showJavalinBanner = false;
            config.jetty.host = "127.0.0.1";
            config.jetty.port = 0;
            config.jetty.modifyServletContextHandler(handler -> handler.addFilter(
                    new FilterHolder(new UnreadBodyDrain(dropTime)), "/*", EnumSet.of(DispatcherType.REQUEST)));
            config.routes.post("/", onPost);
        }).start();
    }
}
