package io.picotunnel.server.tunnel;

import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.FutureTask;
import java.util.function.Supplier;

/**
 * A look-up of the store run on {@code executor}, whose future, cancelled, interrupts the thread running it: a read
 * waiting for a free read connection then ends at once, freeing its thread, instead of waiting on for a client given up.
 * {@link CompletableFuture#supplyAsync} cannot: its cancel leaves the work running.
 */
final class InterruptibleLookup {

    private InterruptibleLookup() {
    }

    /** Runs {@code work} on {@code executor}; throws RejectedExecutionException as the executor does. */
    static <T> CompletableFuture<T> supplyAsync(Supplier<T> work, Executor executor) {
        CompletableFuture<T> result = new CompletableFuture<>();
        FutureTask<T> task = new FutureTask<>(work::get) {
            @Override
            protected void done() {
                try {
                    result.complete(get());
                } catch (CancellationException e) {
                    result.cancel(false);
                } catch (ExecutionException e) {
                    result.completeExceptionally(e.getCause());
                } catch (InterruptedException e) {
                    // Not reached: done() runs once the task has completed, so get() does not wait.
                    Thread.currentThread().interrupt();
                    result.completeExceptionally(e);
                }
            }
        };
        result.whenComplete((value, failure) -> {
            if (result.isCancelled()) {
                task.cancel(true);
            }
        });
        executor.execute(task);
        return result;
    }
}
