import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.harness.Neo4j;
import org.neo4j.harness.Neo4jBuilders;

/**
 * Starts a real Neo4j 5.26 in-process (the test harness, Bolt only, no auth) on 127.0.0.1 and prints its Bolt URI.
 * Usage: Neo4jLauncher DATA_DIR [PORT]. Databases live in DATA_DIR/data and survive a restart (even after a kill);
 * DATA_DIR/run holds this run's logs. Stops when stdin closes or on SIGTERM.
 */
public final class Neo4jLauncher {
    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: Neo4jLauncher DATA_DIR [PORT]");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        Path run = home.resolve("run");
        deleteTree(run);  // logs of an earlier run that was killed
        Files.createDirectories(run);
        int port = args.length > 1 ? Integer.parseInt(args[1]) : freePort();
        long pageCacheMb = Long.parseLong(System.getProperty("kgbuild.pagecache.mb", "512"));
        SocketAddress bolt = new SocketAddress("127.0.0.1", port);
        Neo4j neo4j = Neo4jBuilders.newInProcessBuilder(run)
                .withDisabledServer()
                .withConfig(GraphDatabaseSettings.data_directory, home.resolve("data"))
                .withConfig(GraphDatabaseSettings.pagecache_memory, pageCacheMb * 1024 * 1024)
                .withConfig(GraphDatabaseSettings.udc_enabled, false)
                // LOAD CSV must not read the server's files (file:///etc/passwd) nor, via a web URL, reach the network.
                .withConfig(GraphDatabaseSettings.allow_file_urls, false)
                .withConfig(BoltConnector.enabled, true)
                .withConfig(BoltConnector.listen_address, bolt)
                .withConfig(BoltConnector.advertised_address, bolt)
                .build();
        Runtime.getRuntime().addShutdownHook(new Thread(neo4j::close));  // SIGTERM, SIGINT, System.exit
        System.out.println("bolt://127.0.0.1:" + neo4j.boltURI().getPort());
        System.out.flush();
        InputStream in = System.in;
        while (in.read() != -1) {
            // keep running until the parent closes our stdin (or dies)
        }
        System.exit(0);
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress("127.0.0.1", 0));
            return socket.getLocalPort();
        }
    }

    private static void deleteTree(Path path) throws IOException {
        if (!Files.exists(path)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(path)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
