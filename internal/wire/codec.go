package wire

import (
	"bytes"
	"encoding/gob"
	"fmt"
)

var messageNames = [...]string{
	MessageTypeKeepalive:         "Keepalive",
	MessageTypeHeartbeatRequest:  "HeartbeatRequest",
	MessageTypeHeartbeatResponse: "HeartbeatResponse",
	MessageTypeTriggerAction:     "TriggerAction",
	MessageTypeCancelAction:      "CancelAction",
	MessageTypeActionOutput:      "ActionOutput",
	MessageTypeActionResult:      "ActionResult",
	MessageTypeGeneralFailure:    "GeneralFailure",
}

// messageName names a message type for error messages.
func messageName(messageType uint32) string {
	if messageType < uint32(len(messageNames)) && messageNames[messageType] != "" {
		return messageNames[messageType]
	}
	return fmt.Sprintf("message type %d", messageType)
}

// EncodeMessage returns the gob body of a message of the given type: nil for
// MessageTypeKeepalive, whose message must be nil, else a fresh gob stream of
// message, which must be the struct for that type (MessageHeartbeatRequest
// for MessageTypeHeartbeatRequest, and so on) or a non-nil pointer to it.
// Error fields are sent as nil; see MessageActionResult.Error.
func EncodeMessage(messageType uint32, message any) ([]byte, error) {
	return appendBody(nil, messageType, message)
}

// appendBody appends the body EncodeMessage returns to dst. On error it
// returns dst unchanged.
func appendBody(dst []byte, messageType uint32, message any) ([]byte, error) {
	v, err := sendable(messageType, message)
	if err != nil || v == nil {
		return dst, err
	}
	buf := bytes.NewBuffer(dst)
	if err := gob.NewEncoder(buf).Encode(v); err != nil {
		return dst, fmt.Errorf("wire: encoding %s: %w", messageName(messageType), err)
	}
	return buf.Bytes(), nil
}

// sendable returns the struct value to gob-encode for message, nil for a
// Keepalive, with its error fields cleared.
func sendable(messageType uint32, message any) (any, error) {
	switch messageType {
	case MessageTypeKeepalive:
		if message != nil {
			return nil, fmt.Errorf("wire: encoding Keepalive: message is a %T, want nil", message)
		}
		return nil, nil
	case MessageTypeHeartbeatRequest:
		return structOf[MessageHeartbeatRequest](messageType, message)
	case MessageTypeHeartbeatResponse:
		return structOf[MessageHeartbeatResponse](messageType, message)
	case MessageTypeTriggerAction:
		return structOf[MessageTriggerAction](messageType, message)
	case MessageTypeCancelAction:
		return structOf[MessageCancelAction](messageType, message)
	case MessageTypeActionOutput:
		return structOf[MessageActionOutput](messageType, message)
	case MessageTypeActionResult:
		m, err := structOf[MessageActionResult](messageType, message)
		if err != nil {
			return nil, err
		}
		if m.Error != nil && m.ScriptResult.ExecError == "" {
			m.ScriptResult.ExecError = m.Error.Error()
			m.ScriptResult.Success = false
		}
		m.Error = nil
		return m, nil
	case MessageTypeGeneralFailure:
		m, err := structOf[MessageGeneralFailure](messageType, message)
		if err != nil {
			return nil, err
		}
		m.Error = nil
		return m, nil
	default:
		return nil, fmt.Errorf("%w %d", ErrUnknownType, messageType)
	}
}

// structOf returns message as a T, accepting a T or a non-nil *T.
func structOf[T any](messageType uint32, message any) (T, error) {
	switch m := message.(type) {
	case T:
		return m, nil
	case *T:
		if m != nil {
			return *m, nil
		}
	}
	var zero T
	return zero, fmt.Errorf("wire: encoding %s: message is a %T, want a %T", messageName(messageType), message, zero)
}

// DecodeMessage decodes the gob body of a message of the given type. It
// returns nil for MessageTypeKeepalive, ignoring data, and otherwise the
// struct value for the type, such as a MessageHeartbeatResponse (not a
// pointer). It fails with ErrUnknownType or ErrDecode.
func DecodeMessage(messageType uint32, data []byte) (any, error) {
	switch messageType {
	case MessageTypeKeepalive:
		return nil, nil
	case MessageTypeHeartbeatRequest:
		return decodeAs[MessageHeartbeatRequest](messageType, data)
	case MessageTypeHeartbeatResponse:
		return decodeAs[MessageHeartbeatResponse](messageType, data)
	case MessageTypeTriggerAction:
		return decodeAs[MessageTriggerAction](messageType, data)
	case MessageTypeCancelAction:
		return decodeAs[MessageCancelAction](messageType, data)
	case MessageTypeActionOutput:
		return decodeAs[MessageActionOutput](messageType, data)
	case MessageTypeActionResult:
		return decodeAs[MessageActionResult](messageType, data)
	case MessageTypeGeneralFailure:
		return decodeAs[MessageGeneralFailure](messageType, data)
	default:
		return nil, fmt.Errorf("%w %d", ErrUnknownType, messageType)
	}
}

// decodeAs decodes data, a gob stream, into a T with a fresh decoder.
func decodeAs[T any](messageType uint32, data []byte) (any, error) {
	var m T
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrDecode, messageName(messageType), err)
	}
	return m, nil
}
