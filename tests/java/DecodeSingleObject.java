// Reads Avro single-object messages with Apache Avro for Java, as docs/topics.md tells a
// downstream engineer to, and prints each as JSON: the test compares that with what it wrote.
//
// java -cp '<avro jars>/*' DecodeSingleObject.java <schema.avsc> <messages, one hex per line>

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageDecoder;

public class DecodeSingleObject {
  public static void main(String[] args) throws Exception {
    Schema schema = new Schema.Parser().parse(Path.of(args[0]).toFile());
    BinaryMessageDecoder<GenericRecord> decoder =
        new BinaryMessageDecoder<>(GenericData.get(), schema);
    for (String line : Files.readAllLines(Path.of(args[1]))) {
      if (!line.isBlank()) {
        System.out.println(decoder.decode(HexFormat.of().parseHex(line.strip())));
      }
    }
  }
}
