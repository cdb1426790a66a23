/**
 * A small strict XML parser for the tests that read the harness's JUnit output: elements,
 * attributes, character data, the five predefined entities and numeric character references,
 * an optional `<?xml …?>` declaration. Anything else — a mismatched or unclosed tag, a bare `&`
 * or `<`, a duplicate attribute, text outside the root — throws, so a test that parses a file
 * also checks that it is well-formed.
 */

/** An element: its name, attributes, child elements and concatenated character data. */
export interface XmlElement {
  readonly name: string
  readonly attributes: Readonly<Record<string, string>>
  readonly children: ReadonlyArray<XmlElement>
  readonly text: string
}

const NAME = /^[A-Za-z_:][\w.:-]*/

const decode = (raw: string, at: number): string => {
  if (raw.includes("<")) throw new Error(`xml: '<' in character data near offset ${at}`)
  return raw.replace(/&([^;]*);?/g, (match, entity: string) => {
    if (!match.endsWith(";")) throw new Error(`xml: bare '&' near offset ${at}`)
    switch (entity) {
      case "amp":
        return "&"
      case "lt":
        return "<"
      case "gt":
        return ">"
      case "quot":
        return '"'
      case "apos":
        return "'"
    }
    const code = entity.startsWith("#x")
      ? Number.parseInt(entity.slice(2), 16)
      : entity.startsWith("#")
        ? Number.parseInt(entity.slice(1), 10)
        : Number.NaN
    if (Number.isNaN(code)) throw new Error(`xml: unknown entity &${entity}; near offset ${at}`)
    return String.fromCodePoint(code)
  })
}

/** Parses a whole document and returns its root element. */
export const parseXml = (text: string): XmlElement => {
  let i = 0
  const skipSpace = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++
  }
  const expect = (s: string) => {
    if (!text.startsWith(s, i)) throw new Error(`xml: expected ${JSON.stringify(s)} at offset ${i}`)
    i += s.length
  }
  const name = (): string => {
    const m = NAME.exec(text.slice(i))
    if (m === null) throw new Error(`xml: expected a name at offset ${i}`)
    i += m[0].length
    return m[0]
  }
  const element = (): XmlElement => {
    expect("<")
    const tag = name()
    const attributes: Record<string, string> = {}
    for (;;) {
      skipSpace()
      if (text.startsWith("/>", i)) {
        i += 2
        return { name: tag, attributes, children: [], text: "" }
      }
      if (text[i] === ">") {
        i++
        break
      }
      const attr = name()
      skipSpace()
      expect("=")
      skipSpace()
      const quote = text[i]
      if (quote !== '"' && quote !== "'") throw new Error(`xml: unquoted attribute ${attr} at offset ${i}`)
      const end = text.indexOf(quote, i + 1)
      if (end < 0) throw new Error(`xml: unterminated attribute ${attr}`)
      if (attr in attributes) throw new Error(`xml: duplicate attribute ${attr} on <${tag}>`)
      attributes[attr] = decode(text.slice(i + 1, end), i)
      i = end + 1
    }
    const children: Array<XmlElement> = []
    let content = ""
    for (;;) {
      const lt = text.indexOf("<", i)
      if (lt < 0) throw new Error(`xml: <${tag}> is not closed`)
      content += decode(text.slice(i, lt), i)
      i = lt
      if (text.startsWith("</", i)) {
        i += 2
        const closing = name()
        if (closing !== tag) throw new Error(`xml: </${closing}> closes <${tag}>`)
        skipSpace()
        expect(">")
        return { name: tag, attributes, children, text: content }
      }
      children.push(element())
    }
  }
  skipSpace()
  if (text.startsWith("<?xml", i)) {
    const end = text.indexOf("?>", i)
    if (end < 0) throw new Error("xml: unterminated declaration")
    i = end + 2
  }
  skipSpace()
  const root = element()
  skipSpace()
  if (i !== text.length) throw new Error(`xml: content after the root element at offset ${i}`)
  return root
}

/** Every descendant element named `name`, depth first. */
export const findAll = (element: XmlElement, name: string): Array<XmlElement> =>
  element.children.flatMap((c) => [...(c.name === name ? [c] : []), ...findAll(c, name)])
